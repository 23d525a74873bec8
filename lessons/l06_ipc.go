package lessons

// ipcLogic is written by the engineer who owns lesson 06; until then
// the content lint test fails on its empty logic.
func ipcLogic() Logic { return Logic{} }
