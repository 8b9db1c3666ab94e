-- When a build's `catalogue.assembled` was delivered to the operator's webhook (bundle.webhook_url): a build
-- done but not delivered is sent again, with backoff, until the webhook answers 2xx.
ALTER TABLE builds ADD COLUMN webhook_delivered_at TEXT;
