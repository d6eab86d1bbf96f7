"""Casso: what it sends, how it proves who it is, and its API.

payload        webhook bodies (v1 array, V2 object) -> `Transaction`, the one model
webhook_auth   v1 secure-token and V2 HMAC signature verification (and signing, for tools)
credentials    webhook credentials and the API key from Secrets Manager (cached)
api_auth       how the reconciler proves who it is to Casso's API
client         Casso's REST API v2: webhooks, transactions, userInfo, sync
pages          a transactions page, checked before the client follows it
delivery       Casso's webhook delivery rules, as this project reads them
test_calls     Casso's Test Call, recognised
"""
