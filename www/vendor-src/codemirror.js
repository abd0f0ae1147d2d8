// The CodeMirror 6 pieces the preview page uses, bundled by
// scripts/build-pkg.sh (esbuild, from the lockfile's npm packages) into
// www/vendor/codemirror.js. Nothing is fetched from a CDN.
export { basicSetup } from 'codemirror';
export { EditorView } from '@codemirror/view';
export { EditorState } from '@codemirror/state';
export { json } from '@codemirror/lang-json';
export { lintGutter, setDiagnostics } from '@codemirror/lint';
