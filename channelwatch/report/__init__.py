"""The daily compliance report: a self-contained HTML page, a CSV of findings, a JSON summary.

Public functions:
    build_report(settings, engine, report_date, now=None) -> ReportPaths
"""

from channelwatch.report.build import ReportPaths, build_report

__all__ = ["ReportPaths", "build_report"]
