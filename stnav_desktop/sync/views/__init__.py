"""Read models for the screens and reports: the review grid, status bar, NAV preview, reconciliation and
the audit export. They read the store; they change nothing."""
