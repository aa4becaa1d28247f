export default function Invoice() {
  return <h1>Invoice</h1>;
}
