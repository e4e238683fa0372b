import { ScalekitClient } from '@scalekit-sdk/node';

let scalekit: ScalekitClient | undefined;

// Created on first use, not at import: `next build` loads the routes without the credentials.
export function getScalekit(): ScalekitClient {
  scalekit ??= new ScalekitClient(
    process.env.SCALEKIT_ENVIRONMENT_URL!,
    process.env.SCALEKIT_CLIENT_ID!,
    process.env.SCALEKIT_CLIENT_SECRET!,
  );
  return scalekit;
}
