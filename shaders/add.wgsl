// add.wgsl: not written yet.
