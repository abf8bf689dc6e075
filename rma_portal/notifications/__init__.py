"""Notifications: the transactional outbox. Services write Notification and WebhookDelivery
rows in the same transaction as the state change; workers deliver them exactly once."""
