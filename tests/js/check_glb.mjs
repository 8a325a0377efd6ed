#!/usr/bin/env node
// Validate a .glb with the Khronos glTF validator and play it with three.js, in Node (no browser).
//
//   node tests/js/check_glb.mjs FILE.glb [--times t0,t1,...]
//
// Prints one JSON object on stdout:
//   validator: {version, numErrors, numWarnings, numInfos, numHints, messages: [{code, severity, message, pointer}]}
//   three:     {morphMesh, morphTargetCount, morphTargetDictionary, clips, clip: {name, duration, tracks},
//               samples: [{time, influences: {name: value}, quaternion: [x, y, z, w] | null,
//                          yawPitchRoll: [yaw, pitch, roll] | null}],
//               headRotationTrack, error}
// Samples are taken at 0, 25 %, 50 % and 75 % of the first clip's duration, or at --times (seconds).
// Exit status: 0 when both steps ran (whatever they found), 2 on bad usage, 1 when a step crashed.
// Install once with `npm ci --prefix tests/js`.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

import validator from 'gltf-validator';
import { AnimationMixer, Euler, LoopOnce } from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';

const SEVERITY = ['error', 'warning', 'info', 'hint'];

function parseArgs(argv) {
  const args = { file: null, times: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--times') {
      args.times = (argv[++i] ?? '').split(',').filter((s) => s.length).map(Number);
      if (!args.times.length || args.times.some((t) => !Number.isFinite(t))) throw new Error('--times needs numbers');
    } else if (args.file === null) {
      args.file = argv[i];
    } else {
      throw new Error(`unexpected argument ${argv[i]}`);
    }
  }
  if (args.file === null) throw new Error('usage: check_glb.mjs FILE.glb [--times t0,t1,...]');
  return args;
}

async function validate(bytes, name) {
  const report = await validator.validateBytes(new Uint8Array(bytes), { uri: name, maxIssues: 1000 });
  const issues = report.issues;
  return {
    version: report.validatorVersion,
    numErrors: issues.numErrors,
    numWarnings: issues.numWarnings,
    numInfos: issues.numInfos,
    numHints: issues.numHints,
    truncated: Boolean(issues.truncated),
    messages: issues.messages.map((m) => ({
      code: m.code, severity: SEVERITY[m.severity] ?? m.severity, message: m.message, pointer: m.pointer,
    })),
    info: report.info ?? null,
  };
}

function parseGltf(bytes) {
  // GLTFLoader.parse takes an ArrayBuffer; slice the Node Buffer's own region out of its pool.
  const arrayBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const loader = new GLTFLoader();
  return new Promise((resolve, reject) => loader.parse(arrayBuffer, '', resolve, reject));
}

const round = (v) => Math.round(v * 1e7) / 1e7;

function play(gltf, times) {
  const morphMeshes = [];
  gltf.scene.traverse((o) => { if (o.isMesh && o.morphTargetInfluences) morphMeshes.push(o); });
  const out = {
    morphMesh: null, morphTargetCount: 0, morphTargetDictionary: null,
    clips: gltf.animations.map((c) => c.name), clip: null, samples: [], headRotationTrack: false, error: null,
  };
  if (!morphMeshes.length) {
    out.error = 'no mesh with morph targets';
    return out;
  }
  const mesh = morphMeshes[0];
  const dictionary = mesh.morphTargetDictionary;
  out.morphMesh = mesh.name;
  out.morphTargetCount = mesh.morphTargetInfluences.length;
  out.morphTargetDictionary = dictionary;
  if (!gltf.animations.length) {
    out.error = 'no animation clip';
    return out;
  }
  const clip = gltf.animations[0];
  out.clip = {
    name: clip.name,
    duration: clip.duration,
    tracks: clip.tracks.map((t) => ({ name: t.name, type: t.ValueTypeName, keys: t.times.length })),
  };
  // The head node carries the mesh (one primitive), so its rotation track is '<name>.quaternion'.
  const rotationTrack = clip.tracks.find((t) => t.name.endsWith('.quaternion'));
  out.headRotationTrack = Boolean(rotationTrack);
  const rotated = rotationTrack
    ? gltf.scene.getObjectByName(rotationTrack.name.slice(0, -'.quaternion'.length)) ?? mesh
    : null;

  const mixer = new AnimationMixer(gltf.scene);
  const action = mixer.clipAction(clip);
  action.setLoop(LoopOnce, 1);
  action.clampWhenFinished = true; // so that sampling at the duration shows the last frame
  action.play();
  const names = Object.keys(dictionary);
  const sampleTimes = times ?? [0, 0.25, 0.5, 0.75].map((f) => f * clip.duration);
  for (const time of sampleTimes) {
    action.reset(); // a LoopOnce action that reached the end stays paused there; start each sample afresh
    mixer.setTime(time);
    const influences = {};
    for (const name of names) influences[name] = round(mesh.morphTargetInfluences[dictionary[name]]);
    const q = rotated ? rotated.quaternion : null;
    // Euler order 'YXZ' is the matrix Ry Rx Rz: y = yaw, x = pitch, z = roll in dtsdk's head-pose terms.
    const e = q ? new Euler().setFromQuaternion(q, 'YXZ') : null;
    out.samples.push({
      time, influences,
      quaternion: q ? [q.x, q.y, q.z, q.w].map(round) : null,
      yawPitchRoll: e ? [e.y, e.x, e.z].map(round) : null,
    });
  }
  return out;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err.message);
    return 2;
  }
  const bytes = readFileSync(args.file);
  const result = { file: args.file, validator: null, three: null };
  let status = 0;
  try {
    result.validator = await validate(bytes, basename(args.file));
  } catch (err) {
    result.validator = { error: String(err) };
    status = 1;
  }
  try {
    result.three = play(await parseGltf(bytes), args.times);
  } catch (err) {
    result.three = { error: String(err?.stack ?? err) };
    status = 1;
  }
  process.stdout.write(JSON.stringify(result) + '\n');
  return status;
}

process.exitCode = await main();
