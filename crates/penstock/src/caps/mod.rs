//! Caps: media types, typed fields and caps features.
