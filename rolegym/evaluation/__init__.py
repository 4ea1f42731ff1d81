"""Evaluation, leaderboards and run reports.

- :mod:`rolegym.evaluation.schema`: the result file format (``rolegym.eval/1``) and its checks;
- :mod:`rolegym.evaluation.evaluate`: evaluate a model, checkpoint or endpoint on cells;
- :mod:`rolegym.evaluation.leaderboard`: result files -> Markdown, HTML and plots
  (:func:`~rolegym.evaluation.leaderboard.build_leaderboard`), built from
  :mod:`~rolegym.evaluation.gather` (result files -> rows), :mod:`~rolegym.evaluation.board`
  (table order and means), :mod:`~rolegym.evaluation.board_tables` (the tables),
  :mod:`~rolegym.evaluation.board_render` (the documents) and
  :mod:`~rolegym.evaluation.board_plots` (the plots);
- :mod:`rolegym.evaluation.report`: a training run's story as plots and a short summary
  (:func:`~rolegym.evaluation.report.write_report`), built from
  :mod:`~rolegym.evaluation.cliff` (the terminal-cliff rule), :mod:`~rolegym.evaluation.run_data`
  (reading a run), :mod:`~rolegym.evaluation.report_text` (``report.md``) and
  :mod:`~rolegym.evaluation.report_plots` (the plots);
- shared by both: :mod:`rolegym.evaluation.markdown` (the Markdown table and escape) and
  :mod:`rolegym.evaluation.plots` (the figure helper, saving, and the one policy for a missing
  matplotlib: every plot skipped, with the reason).
"""
