"""The library API the CLI is a shell over: a whole run (``batch.run_batch``) and the
dry run (``dryrun``). Each reads the spreadsheet, picks the engine and the executor,
and writes the results back."""
