export { demoEvents, demoUserId, demoUsers, type DemoOptions } from './generate.ts'
export { loadDemo } from './load-demo.ts'
