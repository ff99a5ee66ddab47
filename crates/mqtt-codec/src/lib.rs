//! MQTT 3.1.1 and 5.0 codec (work in progress: see issue 5).
