"""``omnijourney report``: one self-contained HTML page of charts and tables from the saved analyses.

``build_report(run)`` takes any function from SQL to a query result, so the report runs wherever
``omnijourney sql`` does (through the running sink, or straight against the store).
"""

from sinks.report.build import Report, build_report
from sinks.report.results import REPORT_ANALYSES, Result, Runner, run_analyses

__all__ = ["REPORT_ANALYSES", "Report", "Result", "Runner", "build_report", "run_analyses"]
