"""Web Push with VAPID: keys, subscriptions, payloads without images, delivery and pruning of dead endpoints."""
