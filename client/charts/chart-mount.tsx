import { createEffect, onCleanup, type JSX } from 'solid-js'

/** Mounts a pure chart renderer's <svg>, re-rendering when its inputs change (the framework only mounts). */
export function ChartMount(props: { render: () => SVGSVGElement; class?: string; testId?: string }): JSX.Element {
  let host: HTMLDivElement | undefined
  createEffect(() => {
    const svg = props.render()
    host?.replaceChildren(svg)
  })
  onCleanup(() => host?.replaceChildren())
  return <div class={`chart-host ${props.class ?? ''}`} ref={host} data-testid={props.testId} />
}
