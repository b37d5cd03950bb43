"""Planning: spec -> plan items, SGLang arguments, memory fit, GPU pools."""
