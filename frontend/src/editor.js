// The Dockerfile editor (CodeMirror 6). Filled in by the editor work; bundled by `npm run build`.
