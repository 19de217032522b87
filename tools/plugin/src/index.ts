/**
 * The workspace's Nx generators (`nx g @cqrs/plugin:<generator>`), and their building blocks for
 * generators that extend them.
 */
export { contextGenerator, type ContextGeneratorSchema } from './generators/context/generator';
export { addEvent, eventGenerator, type EventGeneratorSchema } from './generators/event/generator';
export { commandGenerator, defaultEvent, type CommandGeneratorSchema } from './generators/command/generator';
export { type ContextNames, contextNames, singular } from './lib/names';
export { existingContext, contextFiles } from './lib/context-files';
export {
  APP_REGISTRATIONS,
  type AppRegistration,
  contextsArrayRegistration,
  registerInApps,
  registerInDeployment,
  registerInWorkspace,
  registeredContexts,
  StagedFiles,
  stageRegistration,
} from './lib/registration';
export { addComposeTopics, addHelmTopicNames } from './lib/deployment';
export {
  addArrayElement,
  addClassMember,
  addNamedImport,
  insertBeforeDeclaration,
  SourceEditError,
} from './lib/source-edit';
