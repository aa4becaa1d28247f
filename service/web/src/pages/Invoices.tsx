export default function Invoices() {
  return <h1>Invoices</h1>;
}
