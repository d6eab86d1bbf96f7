"""The developer's tools on the local stack: the command line, the demo, local invoke and the
sample events.

    __main__          `python -m local.cli ...`: runs main
    main              the command line: its parser, and main() dispatching to the commands
    commands/         the commands, by what they work on: lifecycle, pipeline, invoke
    stack_client      finding a running stack (its state file) and calling its /_local/ controls
    render            printing: JSON made plain, text tables, the `show` view
    webhook_controls  `webhook outage|recover|status|replay`, and `up`'s Casso-clock and
                      template-parameter options
    demo              `make demo`: the stack started, the story told, checked, summarised
    story             the story the demo tells and the end-to-end tests check: one definition
    demo_summary      the demo's summary, each figure checked against the story's
    invoke            local invoke: `sam local invoke`'s contract without Docker
                      (`python -m local.invoke`)
    sample_events     writes the sample events in events/ (`python -m local.sample_events`), and
                      the local credentials they carry
    fixtures/         Casso's own sample webhooks, copied verbatim (sample_events signs with them)
"""
