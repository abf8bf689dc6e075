"""Analytics: KPI definitions, rollup tables, the manager dashboard, exports and reports."""
