export default function P(_p: Record<string, unknown>) { return <p>TODO</p>; }
