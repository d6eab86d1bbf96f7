"""The local stack: the whole pipeline on loopback as AWS runs it, the harness the tests,
`make demo` and `make dev` are built on. `pipeline.LocalPipeline` puts the parts together.

    pipeline        LocalPipeline: the parts below (and the Casso simulator) started in order,
                    stopped in reverse; waiting until the pipeline is idle
    config          loopback ports, the Casso credentials, the local AWS environment, where a
                    running stack keeps its state
    state           the state file a running stack writes (.local-stack/stack.json)
    template        reading template.yaml: resources, functions, their events, parameters
    sam_transform   the template after the SAM transform, made offline (what deploys, for tests)
    provision       the template's tables, queues, event bus and secrets created on local AWS
    moto_process    local AWS: the moto server in a process of its own
    moto_server     local AWS: moto adjusted where it differs from AWS in a way that matters
    runtime         a local Lambda execution environment: each function in a process of its own
    handler         a handler loaded as Lambda loads it, and the context it is called with
    lambda_events   events as AWS hands them to a function: API Gateway REST proxy, SQS batches
    event_sources   the functions' event sources from the template: the SQS mapping, the schedule
    poller          the SQS poller: what Lambda's event source mapping does
    http_front      API Gateway's part: HTTP requests routed to the functions' events
    control         the running stack's own controls under /_local/ on the HTTP front
    loopback        a WSGI app served on loopback: the HTTP front's and the Casso simulator's base
    event_schemas   each event checked against its published JSON Schema (schemas/events/)
    shop            a small shop's webhook endpoint: what the notifier sends to, verified
    notifications   the notifier's part: its secret, its environment, its queue poller
"""
