"""The persistent worker pool: queue, workers, supervisor, monitors."""
