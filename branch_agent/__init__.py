"""The branch agent: the PST walk-in service at a regency office, online or not."""
