export default function PriceBooks() {
  return <h1>PriceBooks</h1>;
}
