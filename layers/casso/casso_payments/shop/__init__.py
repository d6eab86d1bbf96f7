"""The shop's orders API: what OrdersApiFunction does for a shop calling it over HTTP.

problems       errors as RFC 9457 problem+json: which field, and what was wrong
auth           the shop's API keys (`ShopApiKeySecret`) and the Bearer check, constant time
validation     a request's body, query and cursor checked, field by field, into plain values
responses      an order as the API shows it: amounts due, transfer content, VietQR, payment URL
idempotency    Idempotency-Key: the same key and body answer the same order, another body 409
api            the routes: create, read, list and cancel orders, each through `Orders`
"""
