/** Stylesheets imported for their side effect (`import '../styles/pipeline.css'`); Vite bundles them. */
declare module '*.css';
