const KEY = 'labels.token'

/** The operator's token: `?token=` on the first visit (then removed from the address bar), else the remembered one. */
export function readToken(): string | null {
  const url = new URL(location.href)
  const fromUrl = url.searchParams.get('token')
  if (fromUrl) {
    localStorage.setItem(KEY, fromUrl)
    url.searchParams.delete('token')
    history.replaceState(null, '', url.pathname + url.search + url.hash)
    return fromUrl
  }
  return localStorage.getItem(KEY)
}

/** Remembers a token typed into the sign-in form. */
export function saveToken(token: string): void {
  localStorage.setItem(KEY, token)
}

/** Forgets the token (sign out, or a 401). */
export function clearToken(): void {
  localStorage.removeItem(KEY)
}
