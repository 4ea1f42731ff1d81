"""Evaluation, leaderboards and run reports.

- :mod:`rolegym.evaluation.schema`: the result file format (``rolegym.eval/1``) and its checks;
- :mod:`rolegym.evaluation.evaluate`: evaluate a model, checkpoint or endpoint on cells;
- :mod:`rolegym.evaluation.leaderboard`: result files -> Markdown, HTML and plots;
- :mod:`rolegym.evaluation.report`: a training run's story as plots and a short summary.
"""
