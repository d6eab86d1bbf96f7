"""AWS mechanics every function shares; nothing here knows what a payment is.

dynamo      timestamps as stored, typed JSON, conditional writes that answer rather than
            raise, query pages, and `Table` (one table in plain values)
item_size   DynamoDB's 400 KB item limit, measured
queue       the transaction queue: its message shape and `TransactionQueue`
bus         the event bus: `Event` and `Bus` (batched puts, every rejection an error)
sqs_batch   an SQS batch worked record by record, with the partial batch response
deadline    a run's time budget, from the invocation's remaining time
secrets     a JSON secret read cached, parsed, and kept while Secrets Manager fails
"""
