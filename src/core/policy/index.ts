export * from './policy.js';
export * from './study.js';
