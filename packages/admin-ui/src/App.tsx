export function App() {
  return (
    <main>
      <h1>Sesame admin</h1>
    </main>
  );
}
