"""Files and folders: listing and reading inputs, the tool's own files and markers, datasets."""
