//! Evaluate a rule's IR over events.
