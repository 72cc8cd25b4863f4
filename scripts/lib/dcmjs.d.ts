// dcmjs ships no type declarations; the scripts and tests use a handful of its calls, typed at the call site.
declare module 'dcmjs';
