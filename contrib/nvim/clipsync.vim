" Neovim: the + and * registers are clipsync's clipboard, so a yank on one machine can be put on
" another (and over ssh, where Neovim has no clipboard of its own). Source it from init.vim:
"   source /path/to/clipsync/contrib/nvim/clipsync.vim
" or, in init.lua:  vim.cmd('source /path/to/clipsync/contrib/nvim/clipsync.vim')
" A yank waits for `clipsync copy` (a few tens of milliseconds), so the clip is on the daemon
" when the yank returns, even if Neovim exits right after. Set CLIPSYNC_HOME for another home.
function! s:ClipsyncCopy(lines, regtype) abort
  call system(['clipsync', 'copy'], a:lines)
endfunction

function! s:ClipsyncPaste() abort
  let l:text = system(['clipsync', 'paste'])
  " Exit 4: nothing to paste yet (or no text); an empty register, not an error.
  return v:shell_error == 0 ? split(l:text, "\n", 1) : []
endfunction

let g:clipboard = {
      \ 'name': 'clipsync',
      \ 'copy': { '+': function('s:ClipsyncCopy'), '*': function('s:ClipsyncCopy') },
      \ 'paste': { '+': function('s:ClipsyncPaste'), '*': function('s:ClipsyncPaste') },
      \ 'cache_enabled': 0,
      \ }
