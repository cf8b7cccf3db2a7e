"""The wire contract: touch/1 and converters from what trackers and CRMs emit."""
