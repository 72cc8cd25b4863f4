/** Placeholder until the trust capability provides the real administration page. */
export default function AdminPage() {
  return (
    <main className="page admin-page">
      <h1>Administration</h1>
    </main>
  );
}
