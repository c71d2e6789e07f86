"""What a run tells afterwards: ``report.json``, ``report.html``, and both again from the
run state (``coupadl report``)."""
