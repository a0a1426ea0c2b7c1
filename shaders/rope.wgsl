// rope.wgsl: not written yet.
