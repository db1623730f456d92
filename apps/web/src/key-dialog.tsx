import { useState } from 'preact/hooks';

/**
 * Asks for the API key when the API answered 401. `refused` says a key was already stored and the API
 * turned it down, so the user knows to enter another, not the same one again.
 */
export function KeyDialog(props: { refused: boolean; onSave: (key: string) => void }) {
  const [key, setKey] = useState('');
  const onSubmit = (e: Event) => {
    e.preventDefault();
    if (key.trim()) props.onSave(key.trim());
  };
  return (
    <div class="overlay">
      <form class="dialog" aria-label="API key" onSubmit={onSubmit}>
        <h2>API key</h2>
        <p>This Tiny Backspace API needs a key. It is kept in this browser and sent only as an Authorization header.</p>
        {props.refused && (
          <p class="alert" role="alert">
            The API refused the stored key. Enter another one.
          </p>
        )}
        <input
          name="apiKey"
          type="password"
          autocomplete="off"
          placeholder="API key"
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          autoFocus
        />
        <button type="submit" disabled={!key.trim()}>
          Save key
        </button>
      </form>
    </div>
  );
}
