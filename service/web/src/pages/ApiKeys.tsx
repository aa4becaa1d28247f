export default function ApiKeys() {
  return <h1>ApiKeys</h1>;
}
