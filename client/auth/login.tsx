import { createSignal, type JSX } from 'solid-js'

/** The sign-in prompt: paste the token printed by the server (or given by an admin). */
export function Login(props: { reason: string | null; onToken: (t: string) => void }): JSX.Element {
  const [value, setValue] = createSignal('')
  return (
    <div class="login">
      <form
        class="card login-card"
        onSubmit={(e) => {
          e.preventDefault()
          if (value().trim()) props.onToken(value().trim())
        }}
      >
        <h1>Label System</h1>
        <p class="hint">
          Open the address the server printed at start (it ends with <code>?token=…</code>), or paste your access token.
        </p>
        {props.reason ? (
          <p class="error" data-testid="login-reason">
            {props.reason}
          </p>
        ) : null}
        <label class="field">
          <span>Access token</span>
          <input
            type="password"
            autocomplete="off"
            value={value()}
            onInput={(e) => setValue(e.currentTarget.value)}
            data-testid="login-token"
          />
        </label>
        <button type="submit" class="btn primary">
          Sign in
        </button>
      </form>
    </div>
  )
}
