"""The built-in synthetic talking-face corpus: real TTS speech, articulated ARKit-52 motion, speaker styles."""
