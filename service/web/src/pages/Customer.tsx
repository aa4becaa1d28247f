export default function Customer() {
  return <h1>Customer</h1>;
}
