//! Rock Ridge reader tests on hand-built images.
