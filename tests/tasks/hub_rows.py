"""Rows shaped exactly like the real hub datasets' rows (column names, types, encodings).

Schemas: DAPO-Math-17k-Processed (open-r1's create_dataset.py), openai/gsm8k, MATH-500,
HuggingFaceH4/aime_2024, opencompass/AIME2025, DeepCoder primeintellect (tests as a JSON
string of stdin_stdout / function_call dicts), MBPP ``full``, and LiveCodeBench
code_generation_lite (private tests as base64 of zlib of a pickled JSON string).
"""

from __future__ import annotations

import base64
import json
import pickle
import zlib

DAPO_HEAD = (
    "Solve the following math problem step by step. The last line of your response should be of "
    "the form Answer: $Answer (without quotes) where $Answer is the answer to the problem.\n\n"
)
DAPO_TAIL = '\n\nRemember to put your answer on its own line after "Answer:".'


def dapo_row(k: int) -> dict:
    text = DAPO_HEAD + f"What is {k} + {k}?" + DAPO_TAIL
    return {
        "prompt": text,
        "solution": str(2 * k),
        "data_source": "math_dapo",
        "source_prompt": [{"content": text, "role": "user"}],
        "ability": "MATH",
        "reward_model": {"ground_truth": str(2 * k), "style": "rule-lighteval/MATH_v2"},
        "extra_info": {"index": f"9a9b6eb4-0000-0000-0000-{k:012d}"},
    }


GSM8K = {
    "train": [
        {"question": "Natalia sold clips to 48 of her friends in April, and then she sold half as many "
                     "clips in May. How many clips did Natalia sell altogether in April and May?",
         "answer": "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 "
                   "clips altogether in April and May.\n#### 72"},
        {"question": "A shop sells 1,200 pens a week. How many in two weeks?",
         "answer": "1,200*2 = <<1200*2=2400>>2,400\n#### 2,400"},
        {"question": "This row lost its final answer line.", "answer": "The answer is 5."},
    ],
    "test": [
        {"question": "Janet has 3 apples and buys 4 more. How many apples?",
         "answer": "3+4 = <<3+4=7>>7\n#### 7"},
    ],
}  # fmt: skip

MATH500 = [
    {"problem": "Convert the point $(0,3)$ in rectangular coordinates to polar coordinates.",
     "solution": "... $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}$",
     "answer": "\\left( 3, \\frac{\\pi}{2} \\right)", "subject": "Precalculus", "level": 2,
     "unique_id": "test/precalculus/807.json"},
    {"problem": "What is $\\frac{1}{2}+\\frac{1}{3}$?", "solution": "$\\boxed{\\frac{5}{6}}$",
     "answer": "\\frac{5}{6}", "subject": "Prealgebra", "level": 1,
     "unique_id": "test/prealgebra/1.json"},
]  # fmt: skip

AIME2024 = [
    {"id": 60, "problem": "Find the number of ...", "solution": "...", "answer": "204",
     "url": "https://artofproblemsolving.com/wiki/index.php/2024_AIME_I_Problems/Problem_1",
     "year": "2024"},
]  # fmt: skip

AIME2025 = {
    "AIME2025-I": [{"question": "Find the sum of all integer bases $b>9$ ...", "answer": "70"}],
    "AIME2025-II": [{"question": "Six points lie in a straight line ...", "answer": "468"}],
}

SUM_PROGRAM = "n, m = map(int, input().split())\nprint(n + m)\n"
DEEPCODER = [
    {"problem": "Solve the following coding problem using the programming language python:\n\n"
                "Read two integers and print their sum.",
     "solutions": [f"```python\n{SUM_PROGRAM}```"],
     "tests": json.dumps([{"type": "stdin_stdout", "input": "3 30\n", "output": "33\n"},
                          {"type": "stdin_stdout", "input": "1 1\n", "output": "2\n"}])},
    {"problem": "Given an array nums, return the majority element.",
     "solutions": ["def majorityElement(nums):\n    return max(set(nums), key=nums.count)\n"],
     "tests": json.dumps([{"type": "function_call", "fn_name": "majorityElement",
                           "input": [[3, 2, 3]], "output": [3]},
                          {"type": "function_call", "fn_name": "majorityElement",
                           "input": [[2, 2, 1, 1, 1, 2, 2]], "output": [2]}])},
    {"problem": "A row whose tests are not JSON.", "solutions": [], "tests": "[{broken"},
    {"problem": "Print hello.", "solutions": ["print('hello')"],
     "tests": json.dumps([{"type": "stdin_stdout", "input": "", "output": "hello\n"}])},
]  # fmt: skip

MBPP = [
    {"task_id": 11, "text": "Write a python function to remove first and last occurrence of a given "
                            "character from the string.",
     "code": "def remove_Occ(s,ch): \r\n    for i in range(len(s)): \r\n        if (s[i] == ch): \r\n"
             "            s = s[0 : i] + s[i + 1:] \r\n            break\r\n"
             "    for i in range(len(s) - 1,-1,-1):  \r\n        if (s[i] == ch): \r\n"
             "            s = s[0 : i] + s[i + 1:] \r\n            break\r\n    return s ",
     "test_list": ["assert remove_Occ(\"hello\",\"l\") == \"heo\"",
                   "assert remove_Occ(\"abcda\",\"a\") == \"bcd\"",
                   "assert remove_Occ(\"PHP\",\"P\") == \"H\""],
     "test_setup_code": "", "challenge_test_list": []},
    {"task_id": 17, "text": "Write a function to find the perimeter of a square.",
     "code": "def square_perimeter(a):\r\n  perimeter=4*a\r\n  return perimeter",
     "test_list": ["side = 10\nassert square_perimeter(side)==40"],
     "test_setup_code": "", "challenge_test_list": []},
]  # fmt: skip


def lcb_private(tests: list[dict]) -> str:
    """LiveCodeBench's encoding of private tests."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode()


LIVECODEBENCH = [
    {"question_title": "A. Sum", "question_content": "Read two integers A and B; print A+B.",
     "platform": "atcoder", "question_id": "abc387_a", "contest_id": "abc387",
     "contest_date": "2025-01-04T00:00:00", "starter_code": "", "difficulty": "easy",
     "public_test_cases": json.dumps([{"input": "3 30\n", "output": "33\n", "testtype": "stdin"}]),
     "private_test_cases": lcb_private([{"input": "1 1\n", "output": "2\n", "testtype": "stdin"}]),
     "metadata": "{}"},
    {"question_title": "Zigzag Sum", "question_content": "Return the sum of both lists.",
     "platform": "leetcode", "question_id": "3708", "contest_id": "weekly-contest-432",
     "contest_date": "2025-01-11T18:30:00",
     "starter_code": "class Solution:\n    def zigzagSum(self, a: List[int], b: List[int]) -> int:\n        ",
     "difficulty": "medium",
     "public_test_cases": json.dumps([{"input": "[4, 3]\n[2, 2]", "output": "11", "testtype": "functional"}]),
     "private_test_cases": lcb_private([{"input": "[1]\n[1]", "output": "2", "testtype": "functional"}]),
     "metadata": "{\"func_name\": \"zigzagSum\"}"},
    {"question_title": "Broken", "question_content": "x", "platform": "atcoder", "question_id": "bad",
     "contest_id": "", "contest_date": "", "starter_code": "", "difficulty": "hard",
     "public_test_cases": "[]", "private_test_cases": "not base64 !!", "metadata": "{}"},
]  # fmt: skip

#: (hub id, config, split) -> rows
ROWS: dict[tuple[str, str | None, str], list[dict]] = {
    ("open-r1/DAPO-Math-17k-Processed", "en", "train"): [dapo_row(k) for k in range(40)],
    ("openai/gsm8k", "main", "train"): GSM8K["train"],
    ("openai/gsm8k", "main", "test"): GSM8K["test"],
    ("HuggingFaceH4/MATH-500", None, "test"): MATH500,
    ("HuggingFaceH4/aime_2024", None, "train"): AIME2024,
    ("opencompass/AIME2025", "AIME2025-I", "test"): AIME2025["AIME2025-I"],
    ("opencompass/AIME2025", "AIME2025-II", "test"): AIME2025["AIME2025-II"],
    ("agentica-org/DeepCoder-Preview-Dataset", "primeintellect", "train"): DEEPCODER,
    ("google-research-datasets/mbpp", "full", "test"): MBPP,
    ("livecodebench/code_generation_lite", "release_v6", "test"): LIVECODEBENCH,
}
