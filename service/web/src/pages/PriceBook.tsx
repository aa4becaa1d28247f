export default function PriceBook() {
  return <h1>PriceBook</h1>;
}
