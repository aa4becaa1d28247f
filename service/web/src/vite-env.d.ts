// Vite's import suffixes used by the app.
declare module '*?url' {
  const url: string;
  export default url;
}
declare module '*.css';
